/* udp_win.c: the UDP sockets of common/platform.h on Windows (Winsock 2, started by
 * asr_platform_init). A SOCKET is handed out as an int, as net-snmp does with its own. */
#include "common/platform.h"

#include <stdlib.h>
#include <string.h>
#include <winsock2.h>
#include <ws2tcpip.h>

#include "common/log.h"

struct asr_udp {
  SOCKET s;
  int family;
};

asr_result asr_udp_open(int family, int rcvbuf, asr_udp **out)
{
  u_long nonblocking = 1;
  DWORD on = 1;
  asr_udp *u;
  SOCKET s;

  *out = NULL;
  if (family != ASR_AF_INET && family != ASR_AF_INET6)
    return ASR_ERR_INVALID;
  s = socket(family == ASR_AF_INET ? AF_INET : AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
  if (s == INVALID_SOCKET) {
    asr_log(ASR_LOG_ERR, "UDP socket (IPv%d): Winsock error %d", family, WSAGetLastError());
    return ASR_ERR_IO;
  }
  if (ioctlsocket(s, FIONBIO, &nonblocking) != 0 ||
      (family == ASR_AF_INET6 &&
       setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&on, sizeof(on)) != 0)) {
    asr_log(ASR_LOG_ERR, "UDP socket options: Winsock error %d", WSAGetLastError());
    closesocket(s);
    return ASR_ERR_IO;
  }
  if (rcvbuf > 0)
    (void)setsockopt(s, SOL_SOCKET, SO_RCVBUF, (const char *)&rcvbuf, sizeof(rcvbuf));
  u = malloc(sizeof(*u));
  if (!u) {
    closesocket(s);
    return ASR_ERR_NOMEM;
  }
  u->s = s;
  u->family = family;
  *out = u;
  return ASR_OK;
}

static int to_sockaddr(const asr_udp *u, const asr_addr *a, uint16_t port,
                       struct sockaddr_storage *ss)
{
  memset(ss, 0, sizeof(*ss));
  if (a->family != u->family)
    return 0;
  if (a->family == ASR_AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;

    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    memcpy(&sin->sin_addr, a->b, 4);
    return (int)sizeof(*sin);
  }
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  memcpy(&sin6->sin6_addr, a->b, 16);
  return (int)sizeof(*sin6);
}

asr_result asr_udp_send(asr_udp *u, const asr_addr *to, uint16_t port, const void *buf, size_t len)
{
  struct sockaddr_storage ss;
  int sl = to_sockaddr(u, to, port, &ss), n, e;

  if (!sl || len > 65535)
    return ASR_ERR_INVALID;
  n = sendto(u->s, (const char *)buf, (int)len, 0, (struct sockaddr *)&ss, sl);
  if (n >= 0)
    return (size_t)n == len ? ASR_OK : ASR_ERR_IO;
  e = WSAGetLastError();
  return e == WSAEWOULDBLOCK || e == WSAENOBUFS ? ASR_ERR_LIMIT : ASR_ERR_IO;
}

static void from_sockaddr(const struct sockaddr_storage *ss, asr_addr *a, uint16_t *port)
{
  memset(a, 0, sizeof(*a));
  *port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

    a->family = ASR_AF_INET;
    memcpy(a->b, &sin->sin_addr, 4);
    *port = ntohs(sin->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

    a->family = ASR_AF_INET6;
    memcpy(a->b, &sin6->sin6_addr, 16);
    *port = ntohs(sin6->sin6_port);
  }
}

asr_result asr_udp_recv(asr_udp *u, void *buf, size_t cap, size_t *len, asr_addr *from,
                        uint16_t *port)
{
  struct sockaddr_storage ss;
  int sl = (int)sizeof(ss), n, e;

  *len = 0;
  memset(&ss, 0, sizeof(ss));
  n = recvfrom(u->s, (char *)buf, cap > 65536 ? 65536 : (int)cap, 0, (struct sockaddr *)&ss, &sl);
  if (n >= 0) {
    from_sockaddr(&ss, from, port);
    *len = (size_t)n;
    return ASR_OK;
  }
  e = WSAGetLastError();
  if (e == WSAEWOULDBLOCK)
    return ASR_ERR_NOT_FOUND;
  from_sockaddr(&ss, from, port);
  /* WSAEMSGSIZE: cut to cap; WSAECONNRESET: an ICMP port unreachable from an earlier send */
  return e == WSAEMSGSIZE ? ASR_ERR_TOO_LARGE : ASR_ERR_IO;
}

int asr_udp_fd(const asr_udp *u)
{
  return (int)u->s;
}

void asr_udp_close(asr_udp *u)
{
  if (!u)
    return;
  closesocket(u->s);
  free(u);
}
