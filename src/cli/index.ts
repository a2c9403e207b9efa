export { main, commands } from "./main.ts";
