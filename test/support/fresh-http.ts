/**
 * A GET on a connection of its own (no keep-alive pool): for tests that replace a node's
 * worker hosts, where a pooled connection could still lead to the host being replaced.
 */
import { request } from "node:http";

export interface FreshResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function getFresh(url: string): Promise<FreshResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: "close" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
