/** Shared by readiness and shutdown: once draining, the instance refuses new work. */
export interface Lifecycle {
  draining: boolean
}
