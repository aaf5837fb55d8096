/* main - placeholder until the gateway lands. */
#include <stdio.h>

#include "version.h"

int main(void)
{
    printf("aigw %s\n", GW_VERSION);
    return 0;
}
