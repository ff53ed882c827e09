#ifndef SG_COMMON_COPYTEXT_H
#define SG_COMMON_COPYTEXT_H

#include <stddef.h>

/*
 * copy_text_decode: PostgreSQL's de-escaping of one field of COPY's text
 * format (CopyReadAttributesText): \b \f \n \r \t \v, octal \o to \ooo, hex
 * \xh or \xhh; any other byte after a backslash stands for itself, and a
 * backslash that ends the field is dropped. Writes at most n bytes to out (no
 * terminating NUL) and returns how many.
 */
size_t copy_text_decode(const char *p, size_t n, char *out);

#endif /* SG_COMMON_COPYTEXT_H */
