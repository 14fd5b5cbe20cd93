/* store/store.c: not written yet */
#include "store/store.h"
