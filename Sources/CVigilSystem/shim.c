// CVigilSystem is header-only (static inline shims); SwiftPM wants one source file in a C target.
#include "CVigilSystem.h"
