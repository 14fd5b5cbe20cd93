/* udp_posix.c: the UDP sockets of common/platform.h on POSIX systems (BSD sockets). */
#include "common/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

struct asr_udp {
  int fd;
  int family;
};

static asr_result set_options(int fd, int family, int rcvbuf)
{
  int flags = fcntl(fd, F_GETFL, 0), on = 1;

  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
      fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
    return ASR_ERR_IO;
  /* one socket a family: an IPv6 socket never carries IPv4-mapped traffic */
  if (family == ASR_AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
    return ASR_ERR_IO;
  if (rcvbuf > 0) /* the system may grant less (net.core.rmem_max): not an error */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  return ASR_OK;
}

asr_result asr_udp_open(int family, int rcvbuf, asr_udp **out)
{
  asr_udp *u;
  int fd;

  *out = NULL;
  if (family != ASR_AF_INET && family != ASR_AF_INET6)
    return ASR_ERR_INVALID;
  fd = socket(family == ASR_AF_INET ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) {
    asr_log(ASR_LOG_ERR, "UDP socket (IPv%d): %s", family, strerror(errno));
    return ASR_ERR_IO;
  }
  if (set_options(fd, family, rcvbuf) != ASR_OK) {
    asr_log(ASR_LOG_ERR, "UDP socket (IPv%d) options: %s", family, strerror(errno));
    close(fd);
    return ASR_ERR_IO;
  }
  u = malloc(sizeof(*u));
  if (!u) {
    close(fd);
    return ASR_ERR_NOMEM;
  }
  u->fd = fd;
  u->family = family;
  *out = u;
  return ASR_OK;
}

/* Fills a socket address of the socket's family; 0 when the family differs. */
static socklen_t to_sockaddr(const asr_udp *u, const asr_addr *a, uint16_t port,
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
    return sizeof(*sin);
  }
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  memcpy(&sin6->sin6_addr, a->b, 16);
  return sizeof(*sin6);
}

asr_result asr_udp_send(asr_udp *u, const asr_addr *to, uint16_t port, const void *buf, size_t len)
{
  struct sockaddr_storage ss;
  socklen_t sl = to_sockaddr(u, to, port, &ss);
  ssize_t n;

  if (!sl)
    return ASR_ERR_INVALID;
  do {
    n = sendto(u->fd, buf, len, 0, (struct sockaddr *)&ss, sl);
  } while (n < 0 && errno == EINTR);
  if (n >= 0)
    return (size_t)n == len ? ASR_OK : ASR_ERR_IO;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
    return ASR_ERR_LIMIT;
  return ASR_ERR_IO;
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
  socklen_t sl = sizeof(ss);
  ssize_t n;

  *len = 0;
  do {
    n = recvfrom(u->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&ss, &sl);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? ASR_ERR_NOT_FOUND : ASR_ERR_IO;
  from_sockaddr(&ss, from, port);
  if ((size_t)n > cap)
    return ASR_ERR_TOO_LARGE;
  *len = (size_t)n;
  return ASR_OK;
}

int asr_udp_fd(const asr_udp *u)
{
  return u->fd;
}

void asr_udp_close(asr_udp *u)
{
  if (!u)
    return;
  close(u->fd);
  free(u);
}
