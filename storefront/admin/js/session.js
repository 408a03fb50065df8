// Sign-in for the back office: Cognito's JSON API (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH) called from
// the browser, no SDK. The ID token lives in memory only; the refresh token in sessionStorage (this
// tab only, never a cookie). The pool's client id and endpoint come from GET /api/storefront-config.
const REFRESH_KEY = "backoffice.refresh";
const USER_KEY = "backoffice.user";
const EARLY_REFRESH_SECONDS = 300;
let config = null;
let idToken = null;
let claims = null;
let pending = null; // a NEW_PASSWORD_REQUIRED challenge (first sign-in with a temporary password)

export class SignInError extends Error {}

async function cognitoConfig() {
  if (config) return config;
  const response = await fetch("/api/storefront-config", { headers: { Accept: "application/json" } });
  if (!response.ok) throw new SignInError("The shop's configuration cannot be loaded.");
  const body = await response.json();
  if (!body.cognito || !body.cognito.client_id || !body.cognito.endpoint) {
    throw new SignInError("Sign-in is not configured for this shop.");
  }
  config = body.cognito;
  return config;
}

async function cognito(target, payload) {
  const { endpoint } = await cognitoConfig();
  let response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService." + target,
      },
      body: JSON.stringify(payload),
    });
  } catch (e) {
    throw new SignInError("Sign-in cannot be reached. Check your connection and try again.");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const kind = String(body.__type || "").split("#").pop();
    if (kind === "NotAuthorizedException" || kind === "UserNotFoundException") {
      throw new SignInError("The e-mail address or password is not right.");
    }
    if (kind === "InvalidPasswordException") {
      throw new SignInError("Choose a password of 12 or more characters with upper and lower case letters, a digit and a symbol.");
    }
    throw new SignInError("Sign-in failed (" + (kind || response.status) + ").");
  }
  return body;
}

function decode(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const padded = part + "=".repeat((4 - (part.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function keep(result) {
  idToken = result.IdToken;
  claims = decode(idToken);
  if (result.RefreshToken) sessionStorage.setItem(REFRESH_KEY, result.RefreshToken);
}

// Signs in; returns "new_password" when Cognito asks for a new password first (an account created
// with a temporary one), then call setNewPassword.
export async function signIn(email, password) {
  const { client_id } = await cognitoConfig();
  const body = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: client_id,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  sessionStorage.setItem(USER_KEY, email);
  if (body.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    pending = { session: body.Session, username: email };
    return "new_password";
  }
  if (!body.AuthenticationResult) throw new SignInError("This account needs a step the back office does not support yet.");
  keep(body.AuthenticationResult);
  return "signed_in";
}

export async function setNewPassword(password) {
  if (!pending) throw new SignInError("Sign in with the temporary password first.");
  const { client_id } = await cognitoConfig();
  const body = await cognito("RespondToAuthChallenge", {
    ChallengeName: "NEW_PASSWORD_REQUIRED",
    ClientId: client_id,
    Session: pending.session,
    ChallengeResponses: { USERNAME: pending.username, NEW_PASSWORD: password },
  });
  pending = null;
  keep(body.AuthenticationResult);
}

async function refresh() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) return false;
  const { client_id } = await cognitoConfig();
  try {
    const body = await cognito("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: client_id,
      AuthParameters: { REFRESH_TOKEN: token },
    });
    keep(body.AuthenticationResult);
    return true;
  } catch (e) {
    signOut();
    return false;
  }
}

// The current ID token, refreshed when it is about to expire; null when signed out.
export async function token() {
  if (idToken && claims.exp - Date.now() / 1000 > EARLY_REFRESH_SECONDS) return idToken;
  return (await refresh()) ? idToken : null;
}

export async function forceRefresh() {
  idToken = null;
  return token();
}

export function groups() {
  return (claims && claims["cognito:groups"]) || [];
}

export function email() {
  return (claims && claims.email) || sessionStorage.getItem(USER_KEY) || "";
}

export function signOut() {
  idToken = null;
  claims = null;
  sessionStorage.removeItem(REFRESH_KEY);
  sessionStorage.removeItem(USER_KEY);
}
