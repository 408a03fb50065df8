// The back office's API client: every call carries the ID token (X-Id-Token); a 401 refreshes the
// token once and retries, then asks to sign in again.
import * as session from "./session.js";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

async function send(method, path, body, headers, idToken) {
  const init = { method, headers: Object.assign({ Accept: "application/json", "X-Id-Token": idToken }, headers || {}) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch("/api" + path, init);
  } catch (e) {
    throw new ApiError(0, "network_error", "The shop cannot be reached. Check your connection and try again.");
  }
}

export async function api(method, path, body, headers) {
  let idToken = await session.token();
  if (!idToken) throw new ApiError(401, "unauthorized", "Please sign in again.");
  let response = await send(method, path, body, headers, idToken);
  if (response.status === 401) {
    idToken = await session.forceRefresh();
    if (!idToken) throw new ApiError(401, "unauthorized", "Please sign in again.");
    response = await send(method, path, body, headers, idToken);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(response.status, err.code || "http_" + response.status, explain(response.status, err), err.details);
  }
  return data;
}

function explain(status, err) {
  if (status === 403) return "Your role does not allow this.";
  if (err.code === "invalid_transition") return "The order's status does not allow this any more (it is " + (err.details && err.details.status) + ").";
  if (err.code === "validation_error" && err.details && err.details.errors && err.details.errors.length) {
    return "Check the form: " + err.details.errors.map((e) => e.loc[e.loc.length - 1] + " (" + e.message + ")").join(", ");
  }
  return err.message || "Something went wrong (" + status + ").";
}

// Uploads a product image: a presigned POST from the API, then the file straight to S3, then the
// product keeps the object's key.
export async function uploadImage(productId, file) {
  const upload = await api("POST", "/admin/products/" + productId + "/image-upload", { content_type: file.type });
  if (file.size > upload.max_bytes) throw new ApiError(413, "too_large", "The image is larger than " + Math.round(upload.max_bytes / 1048576) + " MB.");
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  form.append("file", file);
  let response;
  try {
    response = await fetch(upload.url, { method: "POST", body: form });
  } catch (e) {
    throw new ApiError(0, "upload_failed", "The image could not be uploaded.");
  }
  if (!response.ok) throw new ApiError(response.status, "upload_failed", "The storage refused the image (" + response.status + ").");
  return api("PUT", "/admin/products/" + productId, { image_key: upload.key });
}
