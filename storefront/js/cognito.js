// Customer sign-in: the browser calls Cognito's JSON API itself (SignUp, ConfirmSignUp, InitiateAuth
// with USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH, GlobalSignOut), at the endpoint and with the app
// client that GET /api/storefront-config names (the moto server locally). The password goes to
// Cognito only, never to our API.
//
// Tokens: the ID and access tokens live in this module (memory); the refresh token in sessionStorage
// (this tab only, never a cookie). A token within 5 minutes of expiry is refreshed before use; a 401
// from the API refreshes once and retries (core.js); a failed refresh signs the customer out.
import { setAuth } from "./core.js";

const REFRESH_KEY = "shop.refreshToken";
const REFRESH_MARGIN_MS = 5 * 60 * 1000;
let config = null;
let session = null; // { idToken, accessToken, expiresAt, claims }
let refreshing = null;
const listeners = [];

export class CognitoError extends Error {
  constructor(type, message) {
    super(message);
    this.type = type;
  }
}

const MESSAGES = {
  UsernameExistsException: "An account with this e-mail address already exists. Sign in instead.",
  InvalidPasswordException: "Choose a password of at least 12 characters with upper and lower case letters, a digit and a symbol.",
  NotAuthorizedException: "The e-mail address or password is not right.",
  UserNotFoundException: "The e-mail address or password is not right.",
  CodeMismatchException: "That code is not right. Check the e-mail we sent.",
  ExpiredCodeException: "That code has expired. Sign up again to get a new one.",
  UserNotConfirmedException: "Confirm your e-mail address first: enter the code we sent.",
  TooManyRequestsException: "Too many attempts. Wait a moment and try again.",
  LimitExceededException: "Too many attempts. Wait a moment and try again.",
  InvalidParameterException: "Check the e-mail address and password.",
};

// Read without the API client: that one asks this module for a token, which needs these settings.
async function settings() {
  if (!config) {
    config = fetch("/api/storefront-config", { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : {}))
      .then((loaded) => (loaded && loaded.cognito) || {})
      .catch(() => {
        config = null; // try again next time
        return {};
      });
  }
  return config;
}

export async function available() {
  const c = await settings();
  return Boolean(c.client_id && c.endpoint);
}

async function call(action, body) {
  const c = await settings();
  if (!c.client_id || !c.endpoint) throw new CognitoError("unavailable", "Accounts are not available in this shop.");
  let response;
  try {
    response = await fetch(c.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService." + action,
      },
      // Every call but GlobalSignOut (which takes the access token alone) names the app client.
      body: JSON.stringify(action === "GlobalSignOut" ? body : Object.assign({ ClientId: c.client_id }, body)),
    });
  } catch (e) {
    throw new CognitoError("network", "The sign-in service cannot be reached. Check your connection and try again.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(data.__type || data.code || "Error").split("#").pop();
    throw new CognitoError(type, MESSAGES[type] || "Sign-in failed (" + type + ").");
  }
  return data;
}

function decode(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const json = decodeURIComponent(Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
  return JSON.parse(json);
}

function store(result) {
  const claims = decode(result.IdToken);
  session = {
    idToken: result.IdToken,
    accessToken: result.AccessToken,
    expiresAt: Math.min(Date.now() + (result.ExpiresIn || 3600) * 1000, claims.exp * 1000),
    claims,
  };
  if (result.RefreshToken) sessionStorage.setItem(REFRESH_KEY, result.RefreshToken);
}

function clear() {
  const was = session !== null || sessionStorage.getItem(REFRESH_KEY) !== null;
  session = null;
  sessionStorage.removeItem(REFRESH_KEY);
  if (was) listeners.forEach((fn) => fn(null));
}

async function refresh() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) {
    session = null;
    return null;
  }
  if (!refreshing) {
    refreshing = call("InitiateAuth", { AuthFlow: "REFRESH_TOKEN_AUTH", AuthParameters: { REFRESH_TOKEN: token } })
      .then((data) => { store(data.AuthenticationResult); return session; })
      .catch((err) => { if (err.type !== "network") clear(); return null; })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

// The ID token for the API (refreshed when close to expiry), or null when signed out.
export async function idToken(force) {
  if (!session && !sessionStorage.getItem(REFRESH_KEY)) return null;
  if (force || !session || session.expiresAt - Date.now() < REFRESH_MARGIN_MS) await refresh();
  return session ? session.idToken : null;
}

// Who is signed in: the ID token's claims, or null.
export async function customer() {
  return (await idToken(false)) ? session.claims : null;
}

export function onChange(fn) {
  listeners.push(fn);
}

export async function signUp(email, password) {
  return call("SignUp", { Username: email, Password: password, UserAttributes: [{ Name: "email", Value: email }] });
}

export async function confirmSignUp(email, code) {
  return call("ConfirmSignUp", { Username: email, ConfirmationCode: code });
}

export async function signIn(email, password) {
  const data = await call("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH", AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  if (!data.AuthenticationResult) throw new CognitoError(data.ChallengeName || "challenge", "This account needs a step the shop does not offer yet (" + (data.ChallengeName || "challenge") + ").");
  store(data.AuthenticationResult);
  listeners.forEach((fn) => fn(session.claims));
  return session.claims;
}

export async function signOut() {
  if (session && session.accessToken) {
    try {
      await call("GlobalSignOut", { AccessToken: session.accessToken });
    } catch (e) {
      // Signed out here regardless; the refresh token is dropped below.
    }
  }
  clear();
}

// Every API call carries the ID token when signed in; a 401 refreshes once and retries.
setAuth(async () => {
  const token = await idToken(false);
  return token ? { "X-Id-Token": token } : {};
}, async () => Boolean(await idToken(true)));
