#ifndef B2C_VERSION_H
#define B2C_VERSION_H
#define B2C_VERSION "0.1.0"
#endif
