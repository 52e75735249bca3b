#!/usr/bin/env Rscript
# Golden files for evsynth's pooling of proportions, computed with R's metafor.
#
# Run from the repository root:  Rscript tests/golden/make_golden.R
# Needs R with metafor, lme4, numDeriv and jsonlite
# (Debian: r-cran-metafor r-cran-lme4 r-cran-numderiv r-cran-jsonlite).
# Writes tests/golden/<dataset>.json; the tests read these files and never call R.
#
# For every data set: escalc yi/vi per measure; per-study CIs (binom.test, prop.test, qbeta);
# rma() for every measure x method x test with predict() (CI, PI, back-transformed),
# confint() (Q-profile tau^2 CI), I^2, H^2, Q, weights; rma.glmm(measure = "PLO") for z and t,
# with lme4's default settings and with tightened ones ("glmm_tight", see glmm_extras());
# leave1out(); and separate-model subgroup analyses with the Q-test between subgroups.

suppressPackageStartupMessages({
  library(metafor)
  library(lme4)
  library(jsonlite)
})

out_dir <- file.path("tests", "golden")

measures <- c("PLO", "PFT", "PAS", "PR")
methods <- c("DL", "REML", "PM", "ML", "HE", "SJ", "EE")
tests <- c("z", "knha")

back <- function(measure, ni) {
  switch(measure,
         PLO = list(transf = transf.ilogit, targs = NULL),
         PFT = list(transf = transf.ipft.hm, targs = list(ni = ni)),
         PAS = list(transf = transf.iarcsin, targs = NULL),
         PR = list(transf = NULL, targs = NULL))
}

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)

pred_fields <- function(res, measure, ni) {
  p <- predict(res)
  b <- back(measure, ni)
  pt <- if (is.null(b$transf)) p else predict(res, transf = b$transf, targs = b$targs)
  list(estimate = num(res$beta[1]), se = num(res$se), ci_lb = num(p$ci.lb), ci_ub = num(p$ci.ub),
       pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub),
       pred = num(pt$pred), pred_ci_lb = num(pt$ci.lb), pred_ci_ub = num(pt$ci.ub),
       pred_pi_lb = num(pt$pi.lb), pred_pi_ub = num(pt$pi.ub))
}

fit_uni <- function(xi, ni, measure, method, test) {
  dat <- escalc(measure, xi = xi, ni = ni)
  res <- tryCatch(suppressWarnings(rma(yi, vi, data = dat, method = method, test = test)),
                  error = function(e) e)
  base <- list(measure = measure, method = method, test = test)
  if (inherits(res, "error")) return(c(base, list(error = conditionMessage(res))))
  ci <- tryCatch(suppressWarnings(confint(res)$random["tau^2", ]), error = function(e) NULL)
  # The same Q-profile limits with uniroot's tolerance tightened from eps^0.25 to 1e-12.
  ci_tight <- tryCatch(suppressWarnings(confint(res, control = list(tol = 1e-12))$random["tau^2", ]),
                       error = function(e) NULL)
  # Paule-Mandel with uniroot's tolerance tightened the same way.
  pm_tight <- if (method == "PM") tryCatch(suppressWarnings(
    rma(yi, vi, data = dat, method = "PM", test = test, control = list(tol = 1e-12))),
    error = function(e) NULL) else NULL
  c(base, list(error = NA), pred_fields(res, measure, ni),
    list(tau2 = num(res$tau2),
         tau2_ci_lb = if (is.null(ci)) NA_real_ else num(ci[["ci.lb"]]),
         tau2_ci_ub = if (is.null(ci)) NA_real_ else num(ci[["ci.ub"]]),
         tau2_ci_lb_tight = if (is.null(ci_tight)) NA_real_ else num(ci_tight[["ci.lb"]]),
         tau2_ci_ub_tight = if (is.null(ci_tight)) NA_real_ else num(ci_tight[["ci.ub"]]),
         tight = if (is.null(pm_tight)) NULL else c(pred_fields(pm_tight, measure, ni),
           list(tau2 = num(pm_tight$tau2), I2 = num(pm_tight$I2), H2 = num(pm_tight$H2))),
         I2 = num(res$I2), H2 = num(res$H2), QE = num(res$QE), QEp = num(res$QEp), k = res$k,
         weights = as.numeric(weights(res))))
}

fit_glmm <- function(xi, ni, test) {
  res <- tryCatch(suppressWarnings(rma.glmm(measure = "PLO", xi = xi, ni = ni, method = "ML",
                                            test = test)),
                  error = function(e) e)
  base <- list(measure = "PLO", method = "GLMM", test = if (test == "t") "knha" else "z")
  if (inherits(res, "error")) return(c(base, list(error = conditionMessage(res))))
  c(base, list(error = NA), pred_fields(res, "PLO", ni),
    list(tau2 = num(res$tau2), I2 = num(res$I2), H2 = num(res$H2),
         QE_LRT = num(res$QE.LRT), QEp_LRT = num(res$QEp.LRT), QE_Wld = num(res$QE.Wld), k = res$k))
}

# lme4 with its default glmerControl stops bobyqa at rhoend = 2e-7 and evaluates the deviance
# with PIRLS to tolPwrss = 1e-7; on flat likelihoods (e.g. "wide_tau") that leaves the optimum
# off by ~1e-3 in sigma. The "tight" fits tighten both (metafor passes control$glmerCtrl on).
TIGHT <- list(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-12, maxfun = 1e5))

# Population-averaged proportion integral(plogis(b + s z) dnorm(z) dz) and its derivatives in
# (b, s), by R's integrate() (QUADPACK), split at the logit's midpoint z0 = -b/s when it is near.
marginal_moments <- function(b, s) {
  if (s == 0) { p <- plogis(b); return(c(p, p * (1 - p), 0)) }
  f <- list(function(z) plogis(b + s * z) * dnorm(z),
            function(z) plogis(b + s * z) * plogis(-(b + s * z)) * dnorm(z),
            function(z) plogis(b + s * z) * plogis(-(b + s * z)) * z * dnorm(z))
  z0 <- -b / s
  cuts <- if (abs(z0) < 10) c(-Inf, z0, Inf) else c(-Inf, Inf)
  sapply(f, function(g) sum(sapply(seq_len(length(cuts) - 1), function(i)
    integrate(g, cuts[i], cuts[i + 1], rel.tol = 1e-12, abs.tol = 1e-15, subdivisions = 1000L)$value)))
}

# The tight GLMM fit plus: sigma; the covariance of (beta, sigma) from numDeriv::hessian of
# lme4's deviance function at the optimum (2 * inverse Hessian of the deviance; at sigma = 0 the
# beta curvature alone); the SE of beta from it; the population-averaged proportion with the
# delta-method CI on the logit scale, crit = the CI's quantile.
glmm_extras <- function(xi, ni, test) {
  d <- data.frame(x = xi, n = ni, study = factor(seq_along(xi)))
  g <- glmer(cbind(x, n - x) ~ 1 + (1 | study), data = d, family = binomial, nAGQ = 7,
             control = do.call(glmerControl, TIGHT))
  dev <- update(g, devFunOnly = TRUE)
  s <- as.numeric(getME(g, "theta")); b <- as.numeric(fixef(g))
  H <- numDeriv::hessian(dev, c(s, b))
  if (s > 1e-3) {
    V <- 2 * solve(H)
    cov <- matrix(c(V[2, 2], V[1, 2], V[2, 1], V[1, 1]), 2)  # order (beta, sigma)
  } else {
    cov <- matrix(c(2 / H[2, 2], 0, 0, NA_real_), 2)
  }
  mm <- marginal_moments(b, s)
  var <- mm[2]^2 * cov[1, 1] + if (s > 1e-3) 2 * mm[2] * mm[3] * cov[1, 2] + mm[3]^2 * cov[2, 2] else 0
  se_logit <- sqrt(var) / (mm[1] * (1 - mm[1]))
  crit <- if (test == "t") qt(0.975, length(xi) - 1) else qnorm(0.975)
  list(beta_lme4 = b, sigma = s, se_numderiv = sqrt(cov[1, 1]),
       cov = list(c(cov[1, 1], cov[1, 2]), c(cov[2, 1], cov[2, 2])),
       crit = crit, marginal = mm[1], marginal_se_logit = se_logit,
       marginal_ci_lb = plogis(qlogis(mm[1]) - crit * se_logit),
       marginal_ci_ub = plogis(qlogis(mm[1]) + crit * se_logit))
}

fit_glmm_tight <- function(xi, ni, test) {
  res <- tryCatch(suppressWarnings(rma.glmm(measure = "PLO", xi = xi, ni = ni, method = "ML",
                                            test = test, control = list(glmerCtrl = TIGHT))),
                  error = function(e) e)
  base <- list(measure = "PLO", method = "GLMM", test = if (test == "t") "knha" else "z")
  if (inherits(res, "error")) return(c(base, list(error = conditionMessage(res))))
  c(base, list(error = NA), pred_fields(res, "PLO", ni),
    list(tau2 = num(res$tau2), I2 = num(res$I2), H2 = num(res$H2), k = res$k),
    glmm_extras(xi, ni, test))
}

study_cis <- function(xi, ni, level = 0.95) {
  z <- qnorm(1 - (1 - level) / 2)
  cp <- t(mapply(function(x, n) binom.test(x, n, conf.level = level)$conf.int, xi, ni))
  wil <- t(mapply(function(x, n) suppressWarnings(prop.test(x, n, conf.level = level,
                                                            correct = FALSE)$conf.int), xi, ni))
  # prop.test's continuity correction is min(1/2, |x - n p0|); p0 is chosen so that it is 1/2.
  wcc <- t(mapply(function(x, n) suppressWarnings(prop.test(
    x, n, p = if (x >= n / 2) 1e-9 else 1 - 1e-9, conf.level = level, correct = TRUE)$conf.int),
    xi, ni))
  jl <- ifelse(xi == 0, 0, qbeta((1 - level) / 2, xi + 0.5, ni - xi + 0.5))
  ju <- ifelse(xi == ni, 1, qbeta(1 - (1 - level) / 2, xi + 0.5, ni - xi + 0.5))
  nt <- ni + z^2
  pt <- (xi + z^2 / 2) / nt
  acl <- pmax(0, pt - z * sqrt(pt * (1 - pt) / nt))
  acu <- pmin(1, pt + z * sqrt(pt * (1 - pt) / nt))
  list(CP = list(lower = cp[, 1], upper = cp[, 2]),
       WILSON = list(lower = wil[, 1], upper = wil[, 2]),
       WILSONCC = list(lower = wcc[, 1], upper = wcc[, 2]),
       JEFFREYS = list(lower = jl, upper = ju),
       AC = list(lower = acl, upper = acu))
}

subgroup_test <- function(xi, ni, group, measure, method, test) {
  levs <- unique(group)
  fits <- lapply(levs, function(g) rma(measure = measure, xi = xi[group == g], ni = ni[group == g],
                                       method = method, test = test))
  est <- sapply(fits, function(r) r$beta[1])
  se <- sapply(fits, function(r) r$se)
  between <- rma(yi = est, sei = se, method = "EE")
  list(measure = measure, method = method, test = test, levels = levs,
       estimate = as.numeric(est), se = as.numeric(se),
       tau2 = sapply(fits, function(r) r$tau2),
       q = num(between$QE), df = length(levs) - 1, pvalue = num(between$QEp))
}

make <- function(name, source, study, xi, ni, group = NULL) {
  escalcs <- lapply(setNames(measures, measures), function(m) {
    d <- escalc(m, xi = xi, ni = ni)
    list(yi = as.numeric(d$yi), vi = as.numeric(d$vi))
  })
  fits <- list()
  for (m in measures) for (meth in methods) for (tst in tests)
    fits[[length(fits) + 1]] <- fit_uni(xi, ni, m, meth, tst)
  glmm <- list(fit_glmm(xi, ni, "z"), fit_glmm(xi, ni, "t"))
  glmm_tight <- list(fit_glmm_tight(xi, ni, "z"), fit_glmm_tight(xi, ni, "t"))
  l1o <- NULL
  if (length(xi) >= 3) {
    l <- leave1out(rma(measure = "PLO", xi = xi, ni = ni, method = "REML"))
    l1o <- list(measure = "PLO", method = "REML", test = "z", estimate = as.numeric(l$estimate),
                se = as.numeric(l$se), ci_lb = as.numeric(l$ci.lb), ci_ub = as.numeric(l$ci.ub),
                tau2 = as.numeric(l$tau2), I2 = as.numeric(l$I2), Q = as.numeric(l$Q))
  }
  sub <- NULL
  if (!is.null(group)) {
    sub <- list(subgroup_test(xi, ni, group, "PLO", "REML", "z"),
                subgroup_test(xi, ni, group, "PFT", "DL", "knha"),
                subgroup_test(xi, ni, group, "PLO", "EE", "z"))
  }
  out <- list(name = name, source = source,
              made_with = paste0(R.version.string, "; metafor ", packageVersion("metafor"),
                                 "; lme4 ", packageVersion("lme4")),
              study = study, events = xi, total = ni, group = group,
              escalc = escalcs, study_ci = study_cis(xi, ni), fits = fits, glmm = glmm,
              glmm_tight = glmm_tight,
              crude = list(events = sum(xi), total = sum(ni),
                           lower = binom.test(sum(xi), sum(ni))$conf.int[1],
                           upper = binom.test(sum(xi), sum(ni))$conf.int[2]),
              leave1out = l1o, subgroups = sub)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = FALSE),
             file.path(out_dir, paste0(name, ".json")))
  cat("wrote", name, "\n")
}

# 1. The review's objective response (CR + PR among evaluable patients), literature counts.
make("review_response", "objective response CR+PR / evaluable patients, counts from the publications",
     c("Lorenz", "Fromigue", "Grozinsky-Glasberg", "Isozaki", "Hughes", "Guglielmi", "Kesim",
       "Segkos", "Yasui"),
     c(5, 5, 7, 1, 1, 1, 1, 1, 0), c(10, 12, 7, 1, 1, 1, 1, 1, 1),
     group = c("series", "series", "series", "report", "report", "report", "report", "report",
               "report"))
# 2. The review's grade >= 3 adverse events (zeros and small studies).
make("review_grade3_ae", "grade >= 3 adverse events (CTCAE v5), counts from the publications",
     c("Lorenz", "Fromigue", "Grozinsky-Glasberg", "Isozaki", "Hughes", "Guglielmi"),
     c(2, 1, 1, 0, 0, 0), c(11, 12, 7, 1, 1, 1))
# 2b. The three case series of the response outcome alone: k = 3 with 0 % / 100 % cells, where
#     the Q-profile upper limit for tau^2 lies beyond metafor's search limit (printed as ">100").
make("review_response_series", "objective response, the three case series only",
     c("Lorenz", "Fromigue", "Grozinsky-Glasberg"), c(5, 5, 7), c(10, 12, 7))
# 3. metafor's dat.pritz1997 (Pritz 1997: proportion of patients with a positive outcome).
data(dat.pritz1997, package = "metadat")
make("pritz1997", "metadat::dat.pritz1997 (Pritz 1997)",
     paste(dat.pritz1997$authors, dat.pritz1997$year), dat.pritz1997$xi, dat.pritz1997$ni)
# 4. k = 1.
make("k1", "a single study", "Only", 3, 14)
# 5. All zeros.
make("all_zero", "no study has an event", c("A", "B", "C", "D", "E"), c(0, 0, 0, 0, 0),
     c(10, 15, 8, 20, 12))
# 6. All events.
make("all_events", "every patient in every study has the event", c("A", "B", "C", "D"),
     c(8, 12, 5, 20), c(8, 12, 5, 20))
# 7. 50 random studies (fixed seed), with three subgroups.
set.seed(20240517)
n50 <- sample(5:80, 50, replace = TRUE)
x50 <- rbinom(50, n50, plogis(rnorm(50, -1, 0.8)))
make("random50", "simulated: n ~ U{5..80}, logit p ~ N(-1, 0.8^2), set.seed(20240517)",
     sprintf("S%02d", 1:50), x50, n50, group = rep(c("A", "B", "C"), length.out = 50))
# 8. The d26 example of issue 11: four studies at 100 %, one at 99 %, up to n = 1000. The
#    GLMM's SE needs a careful Hessian (a fixed 1e-4 step gave 2.23 instead of 2.18).
make("d26", "near 100 %: constructed (issue 11)", sprintf("S%d", 1:5),
     c(99, 200, 150, 1000, 30), c(100, 200, 150, 1000, 30))
# 9. Rare events: mostly 0 % with large n (near the 0 % boundary, sigma > 0).
make("rare_events", "near 0 %: constructed", sprintf("S%d", 1:6),
     c(0, 0, 1, 5, 0, 2), c(200, 150, 300, 100, 250, 40))
# 10. Homogeneous studies: the ML estimate of sigma is on the boundary 0 (lme4: singular fit).
make("sigma_zero", "homogeneous: constructed", sprintf("S%d", 1:5),
     c(10, 10, 11, 10, 9), c(50, 50, 50, 50, 50))
# 11. Very heterogeneous (tau^2 about 23): 0 % to 100 %; lme4's defaults stop short of the optimum.
make("wide_tau", "0 % to 100 %: constructed", sprintf("S%d", 1:6),
     c(0, 1, 10, 30, 49, 50), rep(50, 6))
# 12. Large k: 200 simulated studies, many at 100 %.
set.seed(20250101)
n200 <- sample(3:60, 200, replace = TRUE)
x200 <- rbinom(200, n200, plogis(rnorm(200, 1.5, 1.2)))
make("large_k", "simulated: n ~ U{3..60}, logit p ~ N(1.5, 1.2^2), set.seed(20250101)",
     sprintf("S%03d", 1:200), x200, n200)
