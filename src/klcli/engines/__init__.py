"""Numerical engines for pairs of parametric distributions without a closed form.

:mod:`~klcli.engines.quadrature` integrates 1-D densities (and sums 1-D mass
functions); :mod:`~klcli.engines.montecarlo` estimates everything else from
samples, with numpy or, for ``--device``, torch.
"""
