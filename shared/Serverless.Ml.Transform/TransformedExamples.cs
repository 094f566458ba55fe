using Serverless.Ml.Data;
using Serverless.Ml.Data.Columnar;

namespace Serverless.Ml.Transform;

/// <summary>Reads transformed examples written by <see cref="FittedTransform.WriteExamples"/> into memory, for a trainer.</summary>
public static class TransformedExamples
{
    /// <summary>All rows of the files: a row-major float matrix and labels as floats (class index, or target; null without label column).</summary>
    public static TransformedBatch ReadAll(IReadOnlyList<string> files, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        var reader = new ColumnarReader(files);
        var featuresCol = reader.Schema.IndexOf(FittedTransform.FeaturesOutputName);
        if (featuresCol < 0) throw new InvalidDataException($"not a transformed examples file: no '{FittedTransform.FeaturesOutputName}' column");
        var width = reader.Schema.Columns[featuresCol].ValuesPerRow;
        var labelCol = reader.Schema.IndexOf(FittedTransform.LabelColumnName);
        var features = new List<float>();
        var labels = labelCol < 0 ? null : new List<float>();
        var rows = 0;
        foreach (var batch in reader.ReadBatches(cancellation))
        {
            var t = (Float32TensorColumn)batch.Columns[featuresCol];
            features.AddRange(t.Values.AsSpan(0, batch.RowCount * width));
            if (labels is not null)
            {
                var c = batch.Columns[labelCol];
                for (var i = 0; i < batch.RowCount; i++)
                    labels.Add(c switch
                    {
                        Int64Column l => c.Missing[i] ? -1f : l.Values[i],
                        Float64Column d => c.Missing[i] ? float.NaN : (float)d.Values[i],
                        _ => throw new InvalidDataException("label column must be Int64 or Float64"),
                    });
            }
            rows += batch.RowCount;
        }
        return new TransformedBatch(rows, width, features.ToArray(), labels?.ToArray());
    }
}
