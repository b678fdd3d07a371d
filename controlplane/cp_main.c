/* lifecast-cp entry point (placeholder until the session engine lands). */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "lifecast-cp: not built yet\n");
	return 1;
}
