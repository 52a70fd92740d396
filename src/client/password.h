/* The client's password: read once at start, from password-file or, when
 * culvertd runs on a terminal, asked for there. Never from the command
 * line, where other users could read it in the process list. */
#ifndef CULVERT_PASSWORD_H
#define CULVERT_PASSWORD_H

struct config;

/* *out is NULL when the config names no username (no password needed).
 * Returns 0 or a negative errno after logging what to do. Free with
 * password_free, which wipes it. */
int password_load(const struct config *cfg, char **out);
void password_free(char *password);

#endif
