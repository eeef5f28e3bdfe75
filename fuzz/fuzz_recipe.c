/* fuzz_recipe: the build recipe is read from a sealed tree, i.e. from the vendor: untrusted.
 * Nothing may crash or leak, and a parsed recipe keeps every invariant recipe.h states. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recipe *r = NULL;
	if (recipe_parse((const char *)data, size, &r) == 0) {
		if (!r || !r->n_toolchain || !r->n_run || !r->n_outputs || r->time_limit < 1 ||
		    r->time_limit > RECIPE_TIME_MAX || r->disk_limit < RECIPE_DISK_MIN ||
		    r->disk_limit > RECIPE_DISK_MAX)
			abort();
		for (size_t i = 0; i < r->n_outputs; i++)
			if (!recipe_path_valid(r->outputs[i], strlen(r->outputs[i])))
				abort();
		for (size_t i = 0; i < r->n_env; i++)
			if (recipe_env_reserved(r->env[i].name, strlen(r->env[i].name)))
				abort();
	} else if (r) {
		abort();
	}
	recipe_free(r);
	return 0;
}
