// tap's coverage map (.taprc `coverage-map`): for every test file, the files whose coverage
// counts. Only product code does: the service's own modules under src/, plugins/ and routes/.
// Test helpers and reliability/ code that tests load are not measured, so they cannot inflate
// the figures that scripts/check-coverage.mjs checks.
export const PRODUCT_GLOBS = ['src/**/*.ts', 'plugins/**/*.ts', 'routes/**/*.ts']

export default function coverageMap () {
  return PRODUCT_GLOBS
}
