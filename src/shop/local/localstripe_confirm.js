// Appended by shop.local.localstripe_server to localstripe's Stripe.js stand-in (same script, so
// LOCALSTRIPE_BASE_API and Stripe are in scope). The stand-in's confirmCardPayment only answers a
// 3-D Secure challenge; Stripe.js itself confirms the intent with the card Element's data, the
// publishable key and the client secret (POST /v1/payment_intents/<id>/confirm). This does the
// same against localstripe, so the storefront's code is the one it runs against Stripe.
(function () {
  const standIn = Stripe;
  Stripe = (apiKey) => {
    const stripe = standIn(apiKey);
    const authenticate = stripe.confirmCardPayment; // the stand-in's 3-D Secure dialog
    const failure = (error, fallback) => ({ error: Object.assign({ message: fallback }, error || {}) });
    stripe.confirmCardPayment = async (clientSecret, data) => {
      const paymentMethod = (data && data.payment_method) || {};
      const element = paymentMethod.card;
      if (!element || typeof element !== "object" || !("_inputs" in element)) {
        return authenticate(clientSecret, data);
      }
      const card = element.value && element.value.card;
      if (!card || !/^[0-9]{16}$/.test(card.number || "")) {
        return failure({ type: "validation_error", code: "incomplete_number" }, "Your card number is incomplete.");
      }
      const found = /^(pi_\w+)_secret_/.exec(clientSecret || "");
      if (!found) return failure({ type: "invalid_request_error" }, "Invalid client secret.");
      let response;
      try {
        response = await fetch(`${LOCALSTRIPE_BASE_API}/v1/payment_intents/${found[1]}/confirm`, {
          method: "POST",
          body: JSON.stringify({
            key: apiKey,
            client_secret: clientSecret,
            payment_method_data: {
              type: "card",
              card: card,
              billing_details: paymentMethod.billing_details || {},
            },
          }),
        });
      } catch (err) {
        return failure({ type: "api_connection_error" }, "The payment provider cannot be reached.");
      }
      const body = await response.json().catch(() => ({}));
      if (response.status !== 200 || body.error) return failure(body.error, "The payment was not accepted.");
      if (body.status === "requires_action") return authenticate(clientSecret, data);
      if (body.status === "succeeded" || body.status === "processing") return { paymentIntent: body };
      return failure({ type: "card_error" }, `The payment has status ${body.status}.`);
    };
    return stripe;
  };
})();
