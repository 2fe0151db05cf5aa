# tools/gen-ksyms.sh output, compiled and looked up. Both tables are
# generated here; the empty one is renamed so that both link together.
host_tests += gen_ksyms
host_srcs_gen_ksyms := lib/ksyms.c $(B)/host/ksyms_sample.c $(B)/host/ksyms_empty.c
$(B)/host/test_gen_ksyms: $(B)/host/ksyms_sample.c $(B)/host/ksyms_empty.c
$(B)/host/ksyms_sample.c: tests/host/ksyms_sample.nm tools/gen-ksyms.sh
	@mkdir -p $(dir $@)
	tools/gen-ksyms.sh $< > $@
$(B)/host/ksyms_empty.c: tools/gen-ksyms.sh
	@mkdir -p $(dir $@)
	tools/gen-ksyms.sh /dev/null | sed 's/ksym_table ksyms /ksym_table ksyms_empty /' > $@
