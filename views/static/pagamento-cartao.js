/* global window, document */
// Stripe's Payment Element for card payments: the only script of the portal.
(function () {
  var form = document.getElementById('card-form');
  if (!form || typeof window.Stripe !== 'function') return;
  var stripe = window.Stripe(form.getAttribute('data-key'), { locale: 'pt-BR' });
  var elements = stripe.elements({ clientSecret: form.getAttribute('data-secret'), locale: 'pt-BR' });
  elements.create('payment').mount('#card-element');
  var button = document.getElementById('card-submit');
  var message = document.getElementById('card-message');
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    button.disabled = true;
    message.textContent = '';
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: form.getAttribute('data-return-url') } })
      .then(function (result) {
        if (result.error) {
          message.textContent = result.error.message || 'Não foi possível concluir o pagamento.';
          button.disabled = false;
        }
      });
  });
})();
