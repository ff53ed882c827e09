/*
 * cunit_main.c: shared main() for every unit test program. Each test file
 * defines sg_register_tests(), which adds its suites to the registry.
 */
#include <CUnit/Basic.h>

void sg_register_tests(void);

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	sg_register_tests();
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures();
	unsigned run = CU_get_number_of_tests_run();
	printf("\n%u tests run, %u assertion failures\n", run, failed);
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}
