# class weights computed from the data: port cannot know their values
import keras
from sklearn.utils.class_weight import compute_class_weight
import torch

weights = compute_class_weight("balanced", classes=classes, y=y_train)
model = keras.Sequential([keras.layers.Dense(5)])
# lossbridge port: the loss of the compile() below
criterion = torch.nn.CrossEntropyLoss()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x_train, y_train, class_weight=dict(enumerate(weights)))
