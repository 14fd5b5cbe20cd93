/* uplink/http.h: being written */
#ifndef ASR_HTTP_H
#define ASR_HTTP_H
#endif
