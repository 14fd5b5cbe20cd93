#include "agent/cli.h"
