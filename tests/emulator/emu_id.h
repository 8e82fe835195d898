/*
 * emu_id.h - Salesforce record ids for sfemu.
 *
 * A record id is a 3-char key prefix naming the object, 12 base-62 chars,
 * and (in the 18-char form) a 3-char suffix that encodes which of the first
 * 15 chars are upper case, so the 18-char form survives case-insensitive
 * systems. See reference section 2.14 for the algorithm and test vectors.
 */
#ifndef EMU_ID_H
#define EMU_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes the 18-char id (NUL-terminated) for sequence number `n` of an object
 * whose key prefix is `key_prefix` (3 chars). */
void emu_id_make(const char *key_prefix, uint64_t n, char out[19]);

/* Computes the 3-char case-checksum suffix of a 15-char id into out[0..2]. */
void emu_id_suffix(const char *id15, char out[3]);

/* Accepts a 15-char or an 18-char id and writes its canonical 18-char form.
 * An 18-char id is case-insensitive: the suffix restores the case of the first
 * 15 chars, as Salesforce does. Returns 0, or -1 when `in` is not an id
 * (wrong length, a char outside [0-9A-Za-z], or a suffix that does not match). */
int emu_id_normalize(const char *in, char out[19]);

/* True when `id` (normalized) starts with the 3-char key prefix. */
bool emu_id_has_prefix(const char *id, const char *key_prefix);

#endif
