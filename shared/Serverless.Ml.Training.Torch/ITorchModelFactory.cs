using TorchSharp;

namespace Serverless.Ml.Training.Torch;

/// <summary>
/// A user model: the C# counterpart of TFX's <c>module_file</c>. A public, non-abstract class with a public
/// parameterless constructor implements it in the user's assembly, which the pipeline file names by path and type name.
/// </summary>
/// <remarks>
/// <see cref="Create"/> returns a fresh module for the context's input shape and output size. The trainer seeds
/// libtorch's generator from the run's seed just before the call, so weights drawn by layer constructors (PyTorch's
/// default initialisation) or by <c>torch.rand*</c> calls inside it are reproducible. The module takes a batch shaped
/// <c>[batch, ..InputShape]</c> and returns <c>[batch, OutputSize]</c>: logits for classification (the trainer applies
/// cross-entropy, the export appends Softmax), values for regression. To be exportable to ONNX the module must be a
/// <c>Sequential</c> of the layers listed in the README.
/// </remarks>
public interface ITorchModelFactory
{
    /// <summary>Builds the module (on the CPU; the trainer moves it to the training device).</summary>
    torch.nn.Module<torch.Tensor, torch.Tensor> Create(TorchModelContext context);
}
