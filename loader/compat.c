/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policies built for another kernel's struct zswap_dedup_ops.
 *
 * libbpf matches a policy's struct_ops members to the running kernel's by
 * name, so a policy built for an older kernel, without an op a newer one
 * added, loads as it is.  The other way round, a policy that implements an
 * op the running kernel does not have fails in libbpf ("Cannot find member
 * ... in kernel BTF").  Only domain() is required; every other op is
 * optional by the interface's contract.  So, as sched_ext's compat headers
 * do for struct sched_ext_ops, the loader drops each op the kernel does not
 * know before loading, with a warning: libbpf (1.5 and later) then skips
 * the NULL member and does not load its program.  A data member the kernel
 * does not know cannot be dropped without changing the policy's meaning:
 * that is an error.
 */
#include <errno.h>
#include <string.h>
#include <bpf/btf.h>
#include "zdedup-loader.h"

static bool is_func_ptr(const struct btf *btf, __u32 type_id)
{
	const struct btf_type *t = btf__type_by_id(btf, btf__resolve_type(btf, type_id));

	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(btf, btf__resolve_type(btf, t->type));
	return t && btf_is_func_proto(t);
}

static bool is_zero(const char *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/*
 * Drop from @p's struct_ops map the ops @kern_btf's struct zswap_dedup_ops
 * lacks.  0, or -ENOTSUP when the policy sets a data member the kernel lacks
 * (printed).  A kernel without the struct at all is left to the load to
 * report.
 */
static int compat_fit_ops_btf(struct policy *p, const struct btf *kern_btf)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	const struct btf_type *t, *kt;
	const struct btf_member *m;
	size_t size = 0;
	char *data;
	int kid, ret = 0;

	kid = btf__find_by_name_kind(kern_btf, ZDEDUP_OPS_TYPE, BTF_KIND_STRUCT);
	t = btf ? btf__type_by_id(btf, bpf_map__btf_value_type_id(p->ops)) : NULL;
	data = bpf_map__initial_value(p->ops, &size);
	if (kid < 0 || !t || !btf_is_struct(t) || !data)
		return 0;
	kt = btf__type_by_id(kern_btf, kid);

	m = btf_members(t);
	for (int i = 0, n = btf_vlen(t); i < n; i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		size_t off = m->offset / 8;
		long msize = btf__resolve_size(btf, m->type);

		if (btf_member_offset(kern_btf, kid, name) >= 0)
			continue;
		if (msize <= 0 || off + msize > size || is_zero(data + off, msize))
			continue;
		if (!is_func_ptr(btf, m->type)) {
			p_err("policy '%s' sets '%s', which this kernel's struct %s does not "
			      "have: rebuild the policy for this kernel", p->name, name,
			      btf__name_by_offset(kern_btf, kt->name_off));
			ret = -ENOTSUP;
			continue;
		}
		warn("this kernel's struct %s has no op %s(): policy '%s' is loaded "
		     "without it", ZDEDUP_OPS_TYPE, name, p->name);
		memset(data + off, 0, msize);
	}
	return ret;
}

int compat_fit_ops(struct policy *p)
{
	const struct btf *kern = kernel_btf();

	/* no kernel BTF: the load says what is wrong */
	return kern ? compat_fit_ops_btf(p, kern) : 0;
}
