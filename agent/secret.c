#include "agent/secret.h"
