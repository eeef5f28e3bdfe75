/*
 * replay: run a libFuzzer target's LLVMFuzzerTestOneInput over every file of a folder
 * (argv[1]) without libFuzzer, so that corpora replay in `make check`. Prints
 * "N inputs ok" at the end; a crash or sanitizer report fails the run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read a whole regular file into a fresh allocation; NULL on failure. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	struct stat st;
	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
		p = malloc((size_t)st.st_size + 1);
		if (p && fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
			free(p);
			p = NULL;
		}
		*len = (size_t)st.st_size;
	}
	fclose(f);
	return p;
}

int main(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	unsigned long n = 0;
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	if (!(d = opendir(argv[1]))) {
		fprintf(stderr, "replay: cannot open '%s'\n", argv[1]);
		return 1;
	}
	while ((de = readdir(d))) {
		char path[4096];
		unsigned char *p;
		size_t len = 0;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		if (!(p = slurp(path, &len)))
			continue;
		LLVMFuzzerTestOneInput(p, len);
		free(p);
		n++;
	}
	closedir(d);
	printf("%lu inputs ok\n", n);
	return 0;
}
