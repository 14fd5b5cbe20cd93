/* central/ingest.c: being written */
#include "central/ingest.h"
