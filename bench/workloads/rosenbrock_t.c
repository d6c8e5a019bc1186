/* rosenbrock_t: rosenbrock (rosenbrock.c) in tensor form, written once against the arrays of engines/ad_array.h:
 *   f = sum((1 - x[:-1])^2 + 100 (x[1:] - x[:-1]^2)^2)
 * Same inputs, sizes, node count (8 per term) and hand-written gradient as rosenbrock; the same ops in the same
 * order, so its value is bit-identical to rosenbrock's. */
#ifdef WL_META

const wl_info wl_info_rosenbrock_t = {WL_rosenbrock_t, "rosenbrock_t", "extended Rosenbrock function, tensor form",
                                      {4, 1000}, 100000000, rosen_n_in, rosen_n_out, rosen_zero, rosen_zero,
                                      rosen_nodes, rosen_init, rosen_manual, NULL, 0};

#elif defined(AD_ARR_ENGINE)

static void WL_FN(rosenbrock_t)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)data, (void)s;
  int n = size < 2 ? 2 : size;
  ad_arr X = ad_arr_stack(c, x, n);
  ad_arr x0 = ad_arr_slice(c, X, 0, n - 1), x1 = ad_arr_slice(c, X, 1, n);
  ad_arr t = ad_arr_sub_cv(c, 1.0, x0);
  ad_arr u = ad_arr_sub_vv(c, x1, ad_arr_sqr(c, x0));
  ad_arr term = ad_arr_add_vv(c, ad_arr_sqr(c, t), ad_arr_mul_vc(c, ad_arr_sqr(c, u), 100.0));
  y[0] = ad_arr_sum(c, term);
}

#else
WL_NO_ARRAYS(rosenbrock_t)
#endif
