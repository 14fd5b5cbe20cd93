#ifndef VBFIXTURE_H
#define VBFIXTURE_H
#endif
