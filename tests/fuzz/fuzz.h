/*
 * What the libFuzzer harnesses of tests/fuzz share. Each harness feeds
 * one parser arbitrary bytes; a crash, a sanitizer report, a leak or a
 * failed fuzz_assert is a finding. `make fuzz` runs them all (Makefile.am).
 */
#ifndef CULVERT_FUZZ_H
#define CULVERT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the code under test must keep, whatever the input: abort()
 * so that libFuzzer saves the input as a crash. */
#define fuzz_assert(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: property failed: %s: ", \
				__FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

#endif
