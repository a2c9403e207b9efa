export { createDashboardHandler, dashboardPrefix } from "./serve-dashboard.ts";
