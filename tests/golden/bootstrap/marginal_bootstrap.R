# The GLMM's population-averaged (marginal) proportion with a parametric-bootstrap CI, in R,
# the same recipe as evsynth.meta.glmm.marginal_bootstrap_interval:
#   fit rma.glmm(measure = "PLO") (ML, adaptive quadrature), take (beta, sigma) and the
#   covariance of (beta, sigma) from the ML Hessian, draw (beta*, sigma*) = (beta, sigma) + L u,
#   u ~ N(0, I2), L the Cholesky factor, evaluate the marginal proportion for each draw and take
#   the (1 - level)/2 and (1 + level)/2 quantiles (type 7).
#
# Made with R 4.2.2, metafor 3.8.1, lme4 1.1.31, numDeriv and jsonlite from Debian bookworm's
# packages (r-base-core, r-cran-metafor, r-cran-lme4, r-cran-numderiv, r-cran-jsonlite).
# R's random numbers (Mersenne-Twister + inversion) differ from numpy's PCG64 + ziggurat, so the
# comparison is distributional, not draw by draw: with 4000 draws each percentile carries a Monte
# Carlo SE of about 0.01 on the proportion scale for these data; the tolerance is 0.03 (three SEs)
# on each limit (tests/test_glmm_marginal.py).
#
# Run: Rscript tests/golden/bootstrap/marginal_bootstrap.R > tests/golden/bootstrap/marginal_bootstrap.json
suppressPackageStartupMessages({library(metafor); library(lme4); library(numDeriv); library(jsonlite)})

marginal <- function(b, s) integrate(function(z) plogis(b + s * z) * dnorm(z), -Inf, Inf,
                                     rel.tol = 1e-10)$value

boot_interval <- function(x, n, level = 0.95, draws = 4000, seed = 20211203) {
  d <- data.frame(study = seq_along(x), x = x, n = n)
  fit <- glmer(cbind(x, n - x) ~ 1 + (1 | study), data = d, family = binomial, nAGQ = 7)
  beta <- unname(fixef(fit)[1]); sigma <- unname(sqrt(VarCorr(fit)$study[1]))
  # -log L in (beta, sigma) by adaptive quadrature, as evsynth; covariance = inverse Hessian
  nll <- function(th) {
    -sum(sapply(seq_along(x), function(i) log(integrate(function(z)
      dbinom(x[i], n[i], plogis(th[1] + th[2] * z)) * dnorm(z), -Inf, Inf, rel.tol = 1e-10)$value)))
  }
  V <- solve(hessian(nll, c(beta, sigma)))
  set.seed(seed)
  u <- matrix(rnorm(2 * draws), ncol = 2)
  L <- t(chol(V))
  th <- cbind(beta, sigma)[rep(1, draws), ] + u %*% t(L)
  m <- apply(th, 1, function(t) marginal(t[1], abs(t[2])))
  q <- quantile(m, c((1 - level) / 2, (1 + level) / 2), type = 7, names = FALSE)
  list(x = x, n = n, level = level, beta = beta, sigma = sigma, cov = V,
       marginal = marginal(beta, sigma), ci_lb = q[1], ci_ub = q[2], draws = draws, seed = seed)
}

cases <- list(pr_bundled = list(x = c(5, 7), n = c(12, 7)),
              ae_bundled = list(x = c(2, 1, 1), n = c(11, 12, 7)),
              eight = list(x = c(12, 15, 18, 10, 20, 14, 16, 11), n = rep(25, 8)))
out <- lapply(cases, function(cs) boot_interval(cs$x, cs$n))
cat(toJSON(out, auto_unbox = TRUE, digits = 10, pretty = TRUE))
