// The console JSON routes: GET with the session cookie; an error answer's message becomes the
// rejection's message.

export function getJson(url) {
  return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      if (!response.ok) {
        var message = body && body.error ? body.error.message : response.statusText;
        throw new Error(message);
      }
      return body;
    });
  });
}
