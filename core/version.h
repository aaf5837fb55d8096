/* version - build identity shown by --version and the build_info metric. */
#ifndef GW_VERSION_H
#define GW_VERSION_H

#include "buildcfg.h"

#define GW_VERSION PACKAGE_VERSION

#endif
