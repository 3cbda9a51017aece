/* placeholder, being written (issue 5) */
#include "config.h"
#include "unit.h"

int main(void)
{
	return unit_done();
}
