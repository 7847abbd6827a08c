# The first cell of a notebook (or the first lines of a script): check the kernel's
# environment against the project's committed lockfile before anything computes.
#
# envlock.check() checks the interpreter running this code (the kernel), against
# envlock.yaml (else envlock.toml) in the working directory or the nearest directory above it,
# up to the project root (the first directory holding .git or pyproject.toml).
# - match: silent (findings of warning severity, such as an extra package, are allowed);
# - drift: one EnvlockDriftWarning that lists what drifted and the command that fixes it;
#   envlock.check(warn=False) raises envlock.guard.EnvlockDriftError instead;
# - no lockfile, or an invalid one: envlock.errors.LockfileError.
# It returns the Result (findings, live and expected environments); assigned, Jupyter does
# not show it. Create the lockfile once with `envlock capture`, from the kernel's environment.
import envlock

result = envlock.check()
