/* pop3d_uidl: a message's POP3 unique id (RFC 1939 7) as
 * pop3d_uidl_format says: %u the IMAP UID, %v the folder's UIDVALIDITY,
 * each with an optional zero flag and width ("%08u") and X or x for
 * upper- or lower-case hex ("%08Xu"); %% is a '%'; other characters are
 * copied. Dovecot's default "%08Xu%08Xv" gives 16 hex digits. */
#ifndef SUREL_POP3D_UIDL_H
#define SUREL_POP3D_UIDL_H
#include <stdbool.h>
#include <stdint.h>

/* RFC 1939 7: a unique-id is 1 to 70 characters 0x21..0x7E. */
#define POP3D_UIDL_MAX 70

/* True if uidl is 1..POP3D_UIDL_MAX characters 0x21..0x7E (a P<uidl>
 * kept in dovecot-uidlist is used only then). */
bool pop3d_uidl_valid(const char *uidl);
/* Writes the id of uid in a folder of uidvalidity into out (which needs
 * POP3D_UIDL_MAX + 1 octets). 0, or -1 for an invalid format or a
 * result that pop3d_uidl_valid refuses (empty, too long, a space from
 * a width without the zero flag). */
int pop3d_uidl_format(const char *fmt, uint32_t uid, uint32_t uidvalidity,
		      char *out)
	__attribute__((warn_unused_result));

#endif
