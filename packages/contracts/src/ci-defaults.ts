/** Provider version and branch as CI systems expose them; undefined outside CI. */
export function ciDefaults(env: Record<string, string | undefined> = process.env): { version: string | undefined; branch: string | undefined } {
  const pick = (...names: string[]) => names.map((name) => env[name]).find((value) => value !== undefined && value !== '');
  return {
    version: pick('PACT_PROVIDER_VERSION', 'GIT_COMMIT', 'GITHUB_SHA', 'CI_COMMIT_SHA'),
    branch: pick('PACT_PROVIDER_BRANCH', 'GIT_BRANCH', 'GITHUB_HEAD_REF', 'GITHUB_REF_NAME', 'CI_COMMIT_REF_NAME'),
  };
}
