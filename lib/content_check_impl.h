/* content_check_impl: what the two halves of content_check share: the
 * checker's state (content_check.c walks the message) and the look-up of
 * one header or line with its action (content_check_action.c). */
#ifndef SUREL_CONTENT_CHECK_IMPL_H
#define SUREL_CONTENT_CHECK_IMPL_H
#include "buf.h"
#include "content_check.h"

/* Where the walk is. */
enum content_check_mode {
	CONTENT_CHECK_IN_HEADER,
	CONTENT_CHECK_IN_BODY,
};

/* Which header section: the message's, a multipart part's, an attached
 * message's. */
enum content_check_section {
	CONTENT_CHECK_SECTION_PRIMARY,
	CONTENT_CHECK_SECTION_PART,
	CONTENT_CHECK_SECTION_NESTED,
};

/* What to do with the rest of a header judged before its end. */
enum content_check_rest {
	CONTENT_CHECK_REST_NONE,	/* no header pending */
	CONTENT_CHECK_REST_HOLD,	/* held in raw, not judged yet */
	CONTENT_CHECK_REST_PASS,	/* judged: pass its rest on */
	CONTENT_CHECK_REST_DROP,	/* judged: drop its rest */
};

/* One multipart level. */
struct content_check_frame {
	char *boundary;
	size_t len;
	bool digest;	/* multipart/digest: parts default to messages */
};

/* The effect of an action on the line or header it matched. */
enum content_check_effect {
	CONTENT_CHECK_KEEP,
	CONTENT_CHECK_DROP,	/* IGNORE, STRIP */
	CONTENT_CHECK_REPLACE,	/* the text replaces it */
	CONTENT_CHECK_PREPEND,	/* the text goes before it */
};

/* The longest PREPEND or REPLACE text. */
#define CONTENT_CHECK_TEXT_MAX 4096

struct content_check {
	struct content_check_config cfg;
	content_check_output_fn *out;
	content_check_event_fn *event;
	void *ctx;
	struct content_check_verdict verdict;
	bool stopped;		/* REJECT, DISCARD, PASS, a failed table */
	bool failed;		/* out() failed */

	enum content_check_mode mode;
	enum content_check_section section;
	struct buf line;	/* the physical line being gathered */
	bool mid_line;		/* line continues a piece already handled */

	/* The logical header being gathered. */
	enum content_check_rest rest;
	struct buf raw;		/* as it came (folded), for output */
	struct buf unfolded;	/* what the tables see */
	bool is_content_type;
	struct buf content_type; /* this section's Content-Type value */

	struct content_check_frame *frames;
	size_t frame_count;
	bool part_in_digest;	/* the section is a part of a digest */
	size_t body_seen;	/* octets of this body part checked so far */
};

/* Looks text[0..len) (NUL-terminated) up in class's tables and acts on
 * the verdict and events; a PREPEND or REPLACE text lands in text_r
 * (CONTENT_CHECK_TEXT_MAX). Does nothing once the checker is stopped. */
enum content_check_effect content_check_apply(struct content_check *cc,
					      enum content_check_class class,
					      const char *text, size_t len,
					      char *text_r);

#endif
