export { errorCodes, isErrorCode, type ErrorCode } from "./codes.ts";
export { FlickError, asFlickError, type ErrorData } from "./flick-error.ts";
