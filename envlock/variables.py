"""The environment variables that change numerical results or determinism.

A fixed allowlist: envlock never records the whole environment. Each entry has the
severity of a difference: ``error`` where the variable selects a numerical mode (kernel,
reproducibility, precision), ``warning`` where it sets a thread count, which changes the
order of reductions in some libraries but mostly speed.
"""

from __future__ import annotations

ERROR = "error"
WARNING = "warning"

VARIABLES: dict[str, str] = {
    # Thread counts.
    "OMP_NUM_THREADS": WARNING,
    "OPENBLAS_NUM_THREADS": WARNING,
    "GOTO_NUM_THREADS": WARNING,
    "MKL_NUM_THREADS": WARNING,
    "MKL_DOMAIN_NUM_THREADS": WARNING,
    "BLIS_NUM_THREADS": WARNING,
    "VECLIB_MAXIMUM_THREADS": WARNING,
    "NUMEXPR_NUM_THREADS": WARNING,
    "NUMEXPR_MAX_THREADS": WARNING,
    "NUMBA_NUM_THREADS": WARNING,
    "OMP_DYNAMIC": WARNING,
    "MKL_DYNAMIC": WARNING,
    "OMP_PROC_BIND": WARNING,
    "OMP_PLACES": WARNING,
    "KMP_AFFINITY": WARNING,
    # Kernel and numerical-mode selection.
    "MKL_CBWR": ERROR,
    "MKL_ENABLE_INSTRUCTIONS": ERROR,
    "MKL_DEBUG_CPU_TYPE": ERROR,
    "MKL_THREADING_LAYER": ERROR,
    "MKL_INTERFACE_LAYER": ERROR,
    "OPENBLAS_CORETYPE": ERROR,
    "OPENBLAS_VERBOSE": WARNING,
    "KMP_DETERMINISTIC_REDUCTION": ERROR,
    "NPY_DISABLE_CPU_FEATURES": ERROR,
    "NPY_ENABLE_CPU_FEATURES": ERROR,
    "NUMBA_CPU_NAME": ERROR,
    "NUMBA_FASTMATH": ERROR,
    # GPUs.
    "CUDA_VISIBLE_DEVICES": WARNING,
    "CUDA_LAUNCH_BLOCKING": WARNING,
    "CUBLAS_WORKSPACE_CONFIG": ERROR,
    "NVIDIA_TF32_OVERRIDE": ERROR,
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": ERROR,
    "TORCH_CUDNN_V8_API_DISABLED": ERROR,
    "TF_DETERMINISTIC_OPS": ERROR,
    "TF_CUDNN_DETERMINISTIC": ERROR,
    "TF_ENABLE_ONEDNN_OPTS": ERROR,
    "XLA_FLAGS": ERROR,
    "JAX_ENABLE_X64": ERROR,
    "JAX_DEFAULT_MATMUL_PRECISION": ERROR,
    "JAX_PLATFORMS": WARNING,
    # Python itself.
    "PYTHONHASHSEED": ERROR,
}


def severity(name: str) -> str:
    return VARIABLES.get(name, WARNING)
