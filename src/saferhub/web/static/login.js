// The sign-in and purpose forms keep the deep link's #fragment (browsers never send it to the server), so
// /web/referrals#referral-4 comes back to that referral after signing in.
(function () {
  var next = document.getElementById("next");
  if (next && next.value && location.hash && next.value.indexOf("#") < 0 && /^#[A-Za-z0-9_-]{1,64}$/.test(location.hash)) {
    next.value += location.hash;
  }
}());
