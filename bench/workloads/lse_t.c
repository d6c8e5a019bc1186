/* lse_t: lse (lse.c) in tensor form: A = max(x), f = log(sum(exp(x - A))) + A.
 * Same inputs, sizes, node count and hand-written gradient (softmax) as lse. The maximum is an op here
 * (AmaxBackward0, the gradient to the largest element) where lse selects it by comparison; either way the two
 * uses of A cancel, so the gradient is the same up to the rounding that lse.c describes. Sums run in lse's order:
 * the value is bit-identical to lse's. */
#ifdef WL_META

const wl_info wl_info_lse_t = {WL_lse_t, "lse_t", "log-sum-exp of n values, max subtracted first, tensor form",
                               {5, 200}, 100000000, lse_n_in, lse_n_out, lse_zero, lse_zero, lse_nodes, lse_init,
                               lse_manual, NULL, 0};

#elif defined(AD_ARR_ENGINE)

static void WL_FN(lse_t)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)data, (void)s;
  int n = size < 1 ? 1 : size;
  ad_arr X = ad_arr_stack(c, x, n);
  ad_t A = ad_arr_max(c, X);
  ad_t sum = ad_arr_sum(c, ad_arr_exp(c, ad_arr_sub_vv_bs(c, X, A)));
  y[0] = ad_add_vv(c, ad_log(c, sum), A);
}

#else
WL_NO_ARRAYS(lse_t)
#endif
