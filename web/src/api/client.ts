// fetch with the bearer token and JSON, failing with an ApiError that carries the API's words.
import { announceTokenExpired, readToken } from "../auth/token";
import { ApiError, errorFromResponse } from "./errors";

export const API = "/api/v1";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

/** Call the API; resolves to the JSON body (null for 204), rejects with ApiError. */
export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const token = readToken();
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null, "FlowPilot could not be reached. Check your connection and try again.");
  }
  const parsed = await bodyOf(response);
  if (!response.ok) {
    if (response.status === 401 && token) announceTokenExpired();
    throw errorFromResponse(response.status, parsed);
  }
  return parsed as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const put = <T>(path: string, body: unknown) => api<T>("PUT", path, body);
export const patch = <T>(path: string, body: unknown) => api<T>("PATCH", path, body);
export const del = (path: string) => api<null>("DELETE", path);
