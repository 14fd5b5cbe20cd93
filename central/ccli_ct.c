/* ccli_ct.c: the supplies contacts of asr-central (asr-central(8)): contact add, change, list,
 * history, and device assign. A site has one or more contacts (name, e-mail, delivery
 * address); each device belongs to one, the site's first unless assigned another; orders and
 * notices follow the device's contact, and an order keeps the contact and address it was
 * made with. Results go to stdout, diagnostics to stderr. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/ccli_ct.h"
#include "central/ccli_rp.h"
#include "central/cstore.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/text.h"
#include "common/util.h"
#include "wire/smtp.h"

typedef struct {
  const char *db, *site, *email, *name, *address, *contact;
  bool has_email, has_name, has_address;
  int json;
} ct_opts;

enum { CT_DB = 300, CT_SITE, CT_EMAIL, CT_NAME, CT_ADDRESS, CT_CONTACT, CT_FORMAT, CT_HELP };

/* Parses the options of a contact or device command (mail options go to serve's settings,
 * for the registration mail of contact add). */
static int ct_args(int argc, char **argv, ct_opts *o)
{
  static const struct option own[] = {
      {"db", required_argument, NULL, CT_DB},
      {"site", required_argument, NULL, CT_SITE},
      {"email", required_argument, NULL, CT_EMAIL},
      {"name", required_argument, NULL, CT_NAME},
      {"address", required_argument, NULL, CT_ADDRESS},
      {"contact", required_argument, NULL, CT_CONTACT},
      {"format", required_argument, NULL, CT_FORMAT},
      {"help", no_argument, NULL, CT_HELP},
  };
  struct option all[sizeof(own) / sizeof(own[0]) + CCLI_RP_NOPTS + 1];
  int c;

  if (!ccli_rp_merge_options(all, sizeof(all) / sizeof(all[0]), own, sizeof(own) / sizeof(own[0])))
    return -1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", all, NULL)) != -1) {
    switch (c) {
    case CT_DB:
      o->db = optarg;
      break;
    case CT_SITE:
      o->site = optarg;
      break;
    case CT_EMAIL:
      o->email = optarg;
      o->has_email = true;
      break;
    case CT_NAME:
      o->name = optarg;
      o->has_name = true;
      break;
    case CT_ADDRESS:
      o->address = optarg;
      o->has_address = true;
      break;
    case CT_CONTACT:
      o->contact = optarg;
      break;
    case CT_FORMAT:
      if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
        ccli_error("--format: '%s' is not json or table", optarg);
        return -1;
      }
      o->json = strcmp(optarg, "json") == 0;
      break;
    default:
      if (c == CT_HELP || ccli_rp_serve_option(c, optarg) != 0)
        return -1;
    }
  }
  return 0;
}

/* Printable text of at most 255 bytes (empty allowed when empty_ok). */
static bool text_ok(const char *s, bool empty_ok)
{
  size_t n = strlen(s);

  if ((n == 0 && !empty_ok) || n >= CSTORE_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return false;
  return true;
}

/* Checks the values given: an e-mail that is a plain address, printable name and address. */
static int check_values(const ct_opts *o, const char *cmd)
{
  if (o->has_email && !(asr_smtp_address_ok(o->email) && strlen(o->email) < CSTORE_NAME_MAX)) {
    ccli_error("%s: --email must be a plain address local@domain (printable ASCII, no spaces,"
               " brackets or quotes)",
               cmd);
    return -1;
  }
  if (o->has_name && !text_ok(o->name, true)) {
    ccli_error("%s: --name must be at most 255 printable bytes", cmd);
    return -1;
  }
  if (o->has_address && !text_ok(o->address, true)) {
    ccli_error("%s: --address must be at most 255 printable bytes", cmd);
    return -1;
  }
  return 0;
}

/* ---- Finding a contact: its id, or its e-mail (in --site, or the only site that has it) -- */

typedef struct {
  const char *email;
  int64_t id;
  int n;
} by_email;

static int match_email(const cstore_contact *c, void *ctx)
{
  by_email *b = ctx;

  if (c->email && strcmp(c->email, b->email) == 0) {
    b->id = c->id;
    b->n++;
  }
  return 0;
}

static int found_cb(const cstore_contact *c, void *ctx)
{
  (void)c;
  (void)ctx;
  return 1;
}

static asr_result find_contact(cstore *st, const char *site, const char *arg, int64_t *id)
{
  by_email b = {.email = arg};
  asr_result r;

  if (asr_parse_i64(arg, 1, INT64_MAX, id) == ASR_OK) {
    r = cstore_contact_get(st, *id, found_cb, NULL);
    if (r == ASR_ERR_NOT_FOUND)
      ccli_error("no contact %s", arg);
    return r;
  }
  r = cstore_contact_foreach(st, site, match_email, &b);
  if (r == ASR_ERR_NOT_FOUND)
    ccli_error("%s", cstore_errmsg(st));
  if (!r && b.n == 0) {
    ccli_error("no contact '%s'%s%s", arg, site ? " at site " : "", site ? site : "");
    r = ASR_ERR_NOT_FOUND;
  } else if (!r && b.n > 1) {
    ccli_error("several sites have a contact '%s': name the site (--site) or the contact's id",
               arg);
    r = ASR_ERR_INVALID;
  }
  *id = b.id;
  return r;
}

/* ---- contact add ------------------------------------------------------------------------ */

static int contact_add(const ct_opts *o, const char *site)
{
  cstore *st = NULL;
  int64_t site_id = 0, id = 0;
  asr_result r;

  if (!o->has_email) {
    ccli_error("contact add: --email ADDRESS is required");
    return CCLI_EXIT_USAGE;
  }
  if (check_values(o, "contact add"))
    return CCLI_EXIT_USAGE;
  r = ccli_open_db(o->db, &st);
  if (r)
    return ccli_exit_for(r);
  r = cstore_tx_begin(st);
  if (!r)
    r = cstore_site_id(st, site, &site_id);
  if (!r)
    r = cstore_contact_add(st, site_id, o->name, o->email, o->address, asr_clock_now(), &id);
  if (!r)
    r = cstore_tx_commit(st);
  else
    cstore_tx_rollback(st);
  if (r)
    ccli_error("contact add: %s", cstore_errmsg(st));
  else {
    printf("contact %lld added to site %s: %s (its registration mail queued)\n", (long long)id,
           site, o->email);
    r = ccli_rp_registered(st, id);
  }
  cstore_close(st);
  return r == ASR_ERR_IO ? CCLI_EXIT_NETWORK : ccli_exit_for(r);
}

/* ---- contact change --------------------------------------------------------------------- */

static int contact_change(const ct_opts *o, const char *which)
{
  cstore *st = NULL;
  int64_t id = 0;
  asr_result r;

  if (!o->has_email && !o->has_name && !o->has_address) {
    ccli_error("contact change: nothing to change (--email, --name, --address)");
    return CCLI_EXIT_USAGE;
  }
  if (check_values(o, "contact change"))
    return CCLI_EXIT_USAGE;
  r = ccli_open_db(o->db, &st);
  if (r)
    return ccli_exit_for(r);
  r = find_contact(st, o->site, which, &id);
  if (!r)
    r = cstore_tx_begin(st);
  if (!r) {
    r = cstore_contact_update(st, id, o->has_name ? o->name : NULL, o->has_email ? o->email : NULL,
                              o->has_address ? o->address : NULL, asr_clock_now());
    if (!r)
      r = cstore_tx_commit(st);
    else
      cstore_tx_rollback(st);
    if (r)
      ccli_error("contact change: %s", cstore_errmsg(st));
  }
  if (!r)
    printf("contact %lld changed: the orders made from now on use it; open orders keep theirs\n",
           (long long)id);
  cstore_close(st);
  return ccli_exit_for(r);
}

/* ---- contact list ----------------------------------------------------------------------- */

static int print_contact(const cstore_contact *c, void *ctx)
{
  char a[CSTORE_NAME_MAX], b[CSTORE_NAME_MAX], d[CSTORE_NAME_MAX], e[CSTORE_NAME_MAX], when[32];

  asr_time_iso(c->updated_at, when, sizeof(when));
  if (ctx)
    json_array_append_new(
        ctx, json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:b,s:s}", "id", (json_int_t)c->id, "site",
                       c->site, "email", c->email, "name", c->name, "address", c->address,
                       "devices", (json_int_t)c->devices, "first", c->first, "updated_at", when));
  else
    printf("%-6lld %-16s %-32s %-20s %7lld %-5s %s\n", (long long)c->id,
           asr_text_tty(c->site, a, sizeof(a)), asr_text_tty(c->email, b, sizeof(b)),
           asr_text_tty(c->name, d, sizeof(d)), (long long)c->devices, c->first ? "yes" : "-",
           asr_text_tty(c->address, e, sizeof(e)));
  return 0;
}

static int contact_list(const ct_opts *o)
{
  cstore *st = NULL;
  json_t *arr = o->json ? json_array() : NULL;
  asr_result r = ccli_open_db(o->db, &st);

  if (!r && !o->json)
    printf("%-6s %-16s %-32s %-20s %7s %-5s %s\n", "ID", "SITE", "EMAIL", "NAME", "DEVICES",
           "FIRST", "DELIVERY ADDRESS");
  if (!r) {
    r = cstore_contact_foreach(st, o->site, print_contact, arr);
    if (r)
      ccli_error("%s", cstore_errmsg(st));
  }
  if (!r && arr)
    ccli_print_doc("contacts", arr);
  json_decref(arr);
  cstore_close(st);
  return ccli_exit_for(r);
}

/* ---- contact history -------------------------------------------------------------------- */

static int print_history(const cstore_history *h, void *ctx)
{
  char when[32], a[CSTORE_NAME_MAX], b[CSTORE_NAME_MAX];

  asr_time_iso(h->at, when, sizeof(when));
  if (ctx)
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:s?,s:s?}", "at", when, "what", h->what, "old",
                                         h->old, "new", h->now));
  else
    printf("%-20s %-8s %-32s %s\n", when, h->what,
           asr_text_tty(h->old ? h->old : "-", a, sizeof(a)),
           asr_text_tty(h->now ? h->now : "-", b, sizeof(b)));
  return 0;
}

static int contact_history(const ct_opts *o, const char *which)
{
  cstore *st = NULL;
  json_t *arr = o->json ? json_array() : NULL;
  int64_t id = 0;
  asr_result r = ccli_open_db(o->db, &st);

  if (!r)
    r = find_contact(st, o->site, which, &id);
  if (!r && !o->json)
    printf("%-20s %-8s %-32s %s\n", "WHEN", "WHAT", "BEFORE", "AFTER");
  if (!r) {
    r = cstore_contact_history(st, id, print_history, arr);
    if (r)
      ccli_error("%s", cstore_errmsg(st));
  }
  if (!r && arr)
    ccli_print_doc("history", arr);
  json_decref(arr);
  cstore_close(st);
  return ccli_exit_for(r);
}

static int contact_usage(FILE *out)
{
  fprintf(out,
          "usage: asr-central contact add SITE --email ADDRESS [--name TEXT] [--address TEXT]"
          " --db FILE\n"
          "         [--mail-from ADDRESS] [--smtp-url URL ...]\n"
          "       asr-central contact change CONTACT [--site SITE] [--email ADDRESS] [--name TEXT]"
          " [--address TEXT] --db FILE\n"
          "       asr-central contact list [--site SITE] [--format json|table] --db FILE\n"
          "       asr-central contact history CONTACT [--site SITE] [--format json|table]"
          " --db FILE\n"
          "CONTACT is a contact's id (contact list) or its e-mail.\n");
  return out == stdout ? CCLI_EXIT_OK : CCLI_EXIT_USAGE;
}

int ccli_contact(int argc, char **argv)
{
  ct_opts o = {0};
  const char *sub = argc > 1 ? argv[1] : "";

  if (strcmp(sub, "--help") == 0)
    return contact_usage(stdout);
  if (ct_args(argc - 1, argv + 1, &o))
    return contact_usage(stderr);
  optind++; /* the positional words follow the subcommand */
  if (strcmp(sub, "list") == 0 && optind == argc)
    return contact_list(&o);
  if (optind != argc - 1)
    return contact_usage(stderr);
  if (strcmp(sub, "add") == 0)
    return contact_add(&o, argv[optind]);
  if (strcmp(sub, "change") == 0)
    return contact_change(&o, argv[optind]);
  if (strcmp(sub, "history") == 0)
    return contact_history(&o, argv[optind]);
  return contact_usage(stderr);
}

/* ---- device assign ------------------------------------------------------------------------ */

static int device_assign(const ct_opts *o, const char *serial)
{
  cstore *st = NULL;
  int64_t dev = 0, site = 0, contact = 0;
  char site_name[CSTORE_NAME_MAX] = "";
  asr_result r = ccli_open_db(o->db, &st);

  if (r)
    return ccli_exit_for(r);
  r = cstore_device_find(st, o->site, serial, &dev, &site);
  if (r)
    ccli_error("device assign: %s", cstore_errmsg(st));
  if (!r)
    r = find_contact(st, o->site, o->contact, &contact);
  if (!r)
    r = cstore_tx_begin(st);
  if (!r) {
    r = cstore_device_assign(st, dev, contact, asr_clock_now());
    if (!r)
      r = cstore_tx_commit(st);
    else
      cstore_tx_rollback(st);
    if (r)
      ccli_error("device assign: %s", cstore_errmsg(st));
  }
  if (!r)
    printf("device %s%s%s: contact %lld; the orders made from now on go to it\n",
           asr_text_tty(serial, site_name, sizeof(site_name)), o->site ? " at site " : "",
           o->site ? o->site : "", (long long)contact);
  cstore_close(st);
  return ccli_exit_for(r);
}

int ccli_device(int argc, char **argv)
{
  ct_opts o = {0};
  const char *sub = argc > 1 ? argv[1] : "";

  if (strcmp(sub, "assign") != 0 || ct_args(argc - 1, argv + 1, &o) || optind + 1 != argc - 1 ||
      !o.contact) {
    fprintf(stderr, "usage: asr-central device assign SERIAL --contact CONTACT [--site SITE]"
                    " --db FILE\nCONTACT is a contact's id (contact list) or its e-mail.\n");
    return strcmp(sub, "--help") == 0 ? CCLI_EXIT_OK : CCLI_EXIT_USAGE;
  }
  return device_assign(&o, argv[optind + 1]);
}
