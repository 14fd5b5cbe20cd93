/* uplink/uplink.h: being written */
#ifndef ASR_UPLINK_H
#define ASR_UPLINK_H
#endif
