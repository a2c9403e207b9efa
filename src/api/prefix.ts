/** Where the admin API lives on a node (its own module: the CLI's client needs it without the server). */
export const apiPrefix = "/api/v1";
